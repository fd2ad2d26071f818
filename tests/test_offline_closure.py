"""What the kickstart installs, and whether base + embedded repos hold all of it (repoclosure)."""

from __future__ import annotations

import textwrap

import pytest

from kickgen.core.errors import ValidationError
from kickgen.offline.closure import check_closure
from kickgen.offline.embed import collect_embedded
from kickgen.offline.repodata import read_repodata_dir
from kickgen.offline.requests import Request, requested_packages
from offline_fixtures import MISSION_KICKSTART

KS_HEAD = "install\ncdrom\nlang en_US.UTF-8\nkeyboard us\nrootpw --iscrypted $6$x$y\n" \
          "timezone UTC\nbootloader --location=mbr\nclearpart --all\nautopart\npoweroff\n"


def _repos(base_repo, folders):
    embedded = collect_embedded({name: [path] for name, path in folders.items()})
    return {"base": read_repodata_dir(base_repo), **embedded.metadata()}


def _targets(requests, kind="package"):
    return [r.target for r in requests.items if r.kind == kind and not r.implicit]


def test_mission_kickstart_requests():
    requests = requested_packages(MISSION_KICKSTART)
    assert _targets(requests, "group") == ["core"]
    assert _targets(requests) == ["kernel-ml-aufs", "docker-io", "epel-release",
                                  "device-mapper-libs", "device-mapper-event-libs"]
    # --nobase: only @core is implicit; a heredoc's text is data, not a command
    assert [r.target for r in requests.items if r.implicit] == ["core"]
    assert "not-a-package" not in _targets(requests)
    docker = next(r for r in requests.items if r.target == "docker-io")
    assert docker.origin.startswith("%post line 31: yum -y --disablerepo=*")


def test_post_parsing_forms():
    text = KS_HEAD + textwrap.dedent("""\
        %packages
        @server-policy --optional
        vim-enhanced
        -fprintd
        %end
        %post
        # yum install commented-out
        chroot /mnt/sysimage /usr/bin/yum install -y -c /etc/yum.conf --enablerepo epel a-pkg; \
            echo yum install b
        if yum -q -y install c-pkg.x86_64 2>/dev/null; then yum groupinstall -y "Development Tools"; fi
        yum -y install $EXTRA_PACKAGES && yum -y install @docker-group
        rpm -Uvh http://archive.example/epel-release-6-8.noarch.rpm
        yum -y localinstall /tmp/local.rpm
        yum -y install https://archive.example/x.rpm /root/y.rpm
        yum -y update
        %end
        %post --interpreter=/usr/bin/python
        import os; os.system("yum install python-only")
        %end
        """)
    requests = requested_packages(text)
    assert _targets(requests) == ["vim-enhanced", "a-pkg", "c-pkg.x86_64"]
    assert _targets(requests, "group") == ["server-policy", "Development Tools", "docker-group"]
    assert _targets(requests, "url") == ["http://archive.example/epel-release-6-8.noarch.rpm",
                                         "https://archive.example/x.rpm"]
    assert _targets(requests, "unresolved") == ["$EXTRA_PACKAGES"]
    assert requests.excluded == ("fprintd",)
    assert [r.target for r in requests.items if r.implicit] == ["core", "base"]
    assert next(r for r in requests.items if r.target == "server-policy").all_members


def test_post_variables_and_runner_functions():
    text = KS_HEAD + textwrap.dedent("""\
        %packages
        %end
        %post
        run() {
            echo "step: $1"
            shift
            "$@" || exit 1
        }
        say() {
            printf '%s\\n' "$*"
        }
        pkg=docker-io
        spec=kernel-ml-aufs-3.10.5-3.el6 extra=${pkg}-logrotate
        nvra=$(rpm -q "$spec")
        run "install $spec" yum -y --enablerepo='kickgen-*' install "$spec"
        run "install $pkg" yum -y install "$pkg" "$extra" "$nvra" "$unset"
        say yum install not-run
        run "epel" rpm -Uvh http://archive.example/epel-release-6-8.noarch.rpm
        %end
        """)
    requests = requested_packages(text)
    assert _targets(requests) == ["kernel-ml-aufs-3.10.5-3.el6", "docker-io", "docker-io-logrotate"]
    assert _targets(requests, "unresolved") == ["$nvra", "$unset"]
    assert _targets(requests, "url") == ["http://archive.example/epel-release-6-8.noarch.rpm"]


def test_unparsable_kickstart_is_reported():
    with pytest.raises(ValidationError, match="cannot be parsed as a RHEL6 kickstart"):
        requested_packages("install\n%packages\n@core\n")  # no %end


def test_complete_mission_set_passes(base_repo, mission_rpms):
    report = check_closure(requested_packages(MISSION_KICKSTART), _repos(base_repo, mission_rpms))
    assert report.ok, report.missing
    report.require_complete()
    selected = dict(report.selected)
    assert selected["kernel-ml-aufs-3.10.5-3.el6.x86_64"] == "aufs-kernel"
    assert selected["docker-io-1.7.1-2.el6.x86_64"] == "epel"
    assert selected["lua-lxc-1.0.8-1.el6.x86_64"] == "epel"
    assert selected["lua-5.1.4-4.1.el6.x86_64"] == "base"          # pulled in through lua-lxc
    assert selected["chkconfig-1.3.49.3-2.el6_4.1.x86_64"] == "base"  # a file require /sbin/chkconfig
    # yum installs the newest of each name: the 6.6 device-mapper, not 6.5's
    assert "device-mapper-libs-1.02.90-2.el6_6.1.x86_64" in selected
    assert "device-mapper-libs-1.02.79-8.el6.x86_64" not in selected
    assert "glibc-2.12-1.132.el6.i686" not in selected              # multilib is not pulled


def test_missing_dependency_is_named_with_the_package_that_needs_it(base_repo, mission_copy):
    (mission_copy["updates"] / "libcgroup-0.40.rc1-15.el6_6.x86_64.rpm").unlink()
    report = check_closure(requested_packages(MISSION_KICKSTART), _repos(base_repo, mission_copy))
    assert [str(m) for m in report.missing] == [
        "libcgroup (needed by docker-io-1.7.1-2.el6.x86_64 from repo 'epel')"]
    with pytest.raises(ValidationError, match=r"1 missing capability, first: libcgroup \(needed "
                                              r"by docker-io-1\.7\.1-2\.el6\.x86_64"):
        report.require_complete()


def test_versioned_requirement_not_met(base_repo, mission_copy):
    # without the 6.6 device-mapper-libs, only 6.5's 1.02.79 is there: too old for docker-io
    (mission_copy["updates"] / "device-mapper-libs-1.02.90-2.el6_6.1.x86_64.rpm").unlink()
    report = check_closure(requested_packages(MISSION_KICKSTART), _repos(base_repo, mission_copy))
    assert "device-mapper-libs >= 1.02.90-1 (needed by docker-io-1.7.1-2.el6.x86_64 from repo " \
           "'epel')" in [str(m) for m in report.missing]
    assert "device-mapper-libs = 1.02.90-2.el6_6.1 (needed by " \
           "device-mapper-1.02.90-2.el6_6.1.x86_64 from repo 'updates')" in map(str, report.missing)


def test_newest_version_wins_like_yum(base_repo, mission_copy):
    # the new libs alone: 6.5's device-mapper (from @core via lvm2) needs the old libs exactly
    for name in ("device-mapper-1.02.90-2.el6_6.1", "device-mapper-event-1.02.90-2.el6_6.1"):
        (mission_copy["updates"] / f"{name}.x86_64.rpm").unlink()
    report = check_closure(requested_packages(MISSION_KICKSTART), _repos(base_repo, mission_copy))
    messages = [str(m) for m in report.missing]
    assert ("device-mapper-libs = 1.02.79-8.el6 (needed by device-mapper-1.02.79-8.el6.x86_64 "
            "from repo 'base'; device-mapper-libs-1.02.79-8.el6.x86_64 would, but yum installs "
            "the newest device-mapper-libs-1.02.90-2.el6_6.1.x86_64 instead)") in messages


def test_requested_name_absent_everywhere(base_repo, mission_copy):
    (mission_copy["aufs-kernel"] / "kernel-ml-aufs-3.10.5-3.el6.x86_64.rpm").rename(
        mission_copy["aufs-kernel"] / "kernel-ml-aufs.rpm.bak")
    (mission_copy["aufs-kernel"] / "placeholder.rpm").write_bytes(
        (mission_copy["epel"] / "epel-release-6-8.noarch.rpm").read_bytes())
    report = check_closure(requested_packages(MISSION_KICKSTART), _repos(base_repo, mission_copy))
    assert [m.capability for m in report.missing] == ["kernel-ml-aufs"]
    assert report.missing[0].needed_by.startswith("%post line 31: yum")
    assert "no package or provide of that name" in str(report.missing[0])


def test_download_in_post_fails_offline(base_repo, mission_rpms):
    text = MISSION_KICKSTART.replace(
        "chkconfig docker on", "rpm -ivh http://archive.example/epel-release-6-8.noarch.rpm")
    report = check_closure(requested_packages(text), _repos(base_repo, mission_rpms))
    assert [m.capability for m in report.missing] == [
        "http://archive.example/epel-release-6-8.noarch.rpm"]
    assert "needs the network" in str(report.missing[0])


def test_groups_base_and_missing_group(base_repo, mission_rpms):
    text = KS_HEAD + "%packages\n@no-such-group\n%end\n"
    report = check_closure(requested_packages(text), _repos(base_repo, mission_rpms))
    assert [str(m) for m in report.missing] == [
        "@no-such-group (needed by %packages; no repository's comps file has this group)"]
    # @base comes with it (no --nobase); its member absent from every repo is skipped as yum does
    assert "tar-1.23-11.el6.x86_64" in dict(report.selected)
    assert any("not-on-this-media" in note for note in report.notes)


def test_excluded_group_member_is_not_installed(base_repo, mission_rpms):
    text = KS_HEAD + "%packages\n@core\n-kernel\n%end\n"
    report = check_closure(requested_packages(text), _repos(base_repo, mission_rpms))
    assert report.ok
    assert not [nevra for nevra, _ in report.selected if nevra.startswith("kernel-2.6.32")]


def test_install_by_provide_glob_and_version(base_repo, mission_rpms):
    text = KS_HEAD + "%packages\n%end\n%post\nyum -y install docker 'lxc-lib*' lua-lxc-1.0.8-1.el6\n%end\n"
    requests = requested_packages(text)
    assert [r for r in requests.items if r.kind == "package"] == [
        Request(t, "package", "%post line 14: yum -y install docker lxc-lib* lua-lxc-1.0.8-1.el6", stage="post")
        for t in ("docker", "lxc-lib*", "lua-lxc-1.0.8-1.el6")]
    report = check_closure(requests, _repos(base_repo, mission_rpms))
    assert report.ok, report.missing
    assert {"docker-io-1.7.1-2.el6.x86_64", "lxc-libs-1.0.8-1.el6.x86_64",
            "lua-lxc-1.0.8-1.el6.x86_64"} <= set(dict(report.selected))
