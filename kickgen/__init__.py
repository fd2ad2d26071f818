"""kickgen: YAML profiles -> EL6 kickstarts -> remastered CentOS 6.5 media -> boot-tested."""

from pathlib import Path

__version__ = "0.1.0"

# The project's own data folders. kickgen runs from a checkout (pip install -e),
# so templates, profiles and vm recipes are found next to the package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
PROFILES_DIR = PROJECT_ROOT / "profiles"
VM_DIR = PROJECT_ROOT / "vm"
BUILD_DIR = PROJECT_ROOT / "build"
