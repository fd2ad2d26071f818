"""What every stage shares: errors, atomic output, package data and cache locations."""
