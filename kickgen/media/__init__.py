"""Media: a base install ISO + a kickstart -> a remastered ISO that boots it unattended, and
what an ISO holds for booting.

Public entry points: `remaster(RemasterRequest) -> RemasterResult` (with `ExtraFile` for files
to add) and `inspect_image(path) -> ImageInfo`. Modules: `remaster` (the steps), `iso`
(pycdlib, the only user of it), `layout` (where the boot menus are), `bootcfg` (menu edits),
`fatimage` (the EFI FAT image), `hybrid` (MBR/GPT), `blockcopy` and `implant` (data copy and
media MD5), `inspect`. `kickgen.media.remaster` is the function; the module of that name is
reached with `from kickgen.media.remaster import ...`.
"""

from kickgen.media.inspect import ImageInfo, inspect_image
from kickgen.media.remaster import ExtraFile, RemasterRequest, RemasterResult, remaster

__all__ = ["ExtraFile", "ImageInfo", "RemasterRequest", "RemasterResult", "inspect_image", "remaster"]
