"""The install server for network installs (`kickgen serve`) and what it saw (`kickgen status`).

Public entry points: `start_server(tree_dir, host="127.0.0.1", port=0) -> RunningServer` (url,
port, stop(); runs on background threads) serves a netboot tree (kickgen netboot's output): the
install tree straight out of the base ISO (or the extracted DIR/http/tree), the hosts'
kickstarts, and the endpoint their first-boot reports are posted to; `host_states(tree_dir) ->
list[HostState]` reads what it recorded (DIR/kickgen-serve.sqlite). Modules: `manifest` (the
tree's kickgen-netboot.json), `isoindex` (the ISO's files as byte extents, pycdlib), `tree`
(request paths, the two tree sources), `state` (SQLite), `server` (aiohttp), `status` (the
table).
"""

from kickgen.serve.server import Limits, RunningServer, start_server
from kickgen.serve.state import HostState, host_states

__all__ = ["HostState", "Limits", "RunningServer", "host_states", "start_server"]
