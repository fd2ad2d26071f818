"""Boot tests: install an ISO under libvirt/qemu, boot the installed disk, judge its report.

Public entry points: `boot_test(iso, profile, ...) -> BootTestResult` (one install + first
boot, the profile's `expect:` checked); `pxe_boot_test(tftp_dir, mac, profile, ...)`, the same
over the network (a machine with no install medium that PXE-boots from a netboot tree;
kickgen.pipeline.boot_test_pxe joins it to the install server); and, for many cases over many
hosts, `load_matrix(path) -> MatrixPlan` and `summary_table(outcome)` (kickgen.pipeline.run_matrix
remasters the media and runs the plan). Modules: `host` (libvirt connection, volumes, KVM
probe), `domain` (domain XML), `pxe` (the PXE machine: its NIC on QEMU user-mode networking's
DHCP and TFTP, the staging folder, what the guest sent), `console` (serial lines, failure
patterns, the report line), `verdict` (assertions, JUnit), `harness` (the two phases),
`matrix` (plans and summaries), `probeiso` (tiny boot images for the KVM probe and the tests).
"""

from kickgen.vm.harness import BootTestResult, boot_test, pxe_boot_test
from kickgen.vm.matrix import MatrixPlan, load_matrix, summary_table

__all__ = ["BootTestResult", "MatrixPlan", "boot_test", "load_matrix", "pxe_boot_test", "summary_table"]
