"""Profiles: YAML files (with `extends:` and `--set` overrides) -> a frozen `Profile`.

Public entry point: `load_profile(ref, overrides) -> Profile`. Modules: `schema` (the
dataclass tree and value kinds), `yamlsource` (located YAML, problem list), `loader`
(extends chain, merge, overrides), `convert` (typed conversion), `rules` (checks across
keys), `reference` (plain data and the key reference), `search` (where names are found).
"""

from kickgen.profile.loader import load_profile
from kickgen.profile.reference import profile_to_data, reference_markdown
from kickgen.profile.schema import FrozenMapping, MediaFile, Profile, RootPassword
from kickgen.profile.search import FoundProfile, list_profiles

__all__ = ["FoundProfile", "FrozenMapping", "MediaFile", "Profile", "RootPassword", "list_profiles",
           "load_profile", "profile_to_data", "reference_markdown"]
