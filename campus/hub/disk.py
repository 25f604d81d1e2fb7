"""A home of a fixed size: an ext4 image of its own, mounted over the researcher's home.

``<homes_dir>/.disks/<account>.ext4`` is a sparse file (it takes only what is written),
made at the first start and mounted over ``<homes_dir>/<account>`` (``nosuid,nodev``)
while the server runs. A home that held files before it had a disk has them copied in
once. A larger limit grows the image at the next start; a smaller one is not applied to
an image already bigger (shrinking could lose files: the log says so). When the home is
full, writes fail with "No space left on device" in that home alone.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .accounts import SYSTEM_PATH
from .errors import SandboxUnavailable

DISKS = ".disks"
log = logging.getLogger(__name__)


def image_of(home: Path) -> Path:
    return home.parent / DISKS / f"{home.name}.ext4"


def _run(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, env={"PATH": SYSTEM_PATH})
    if done.returncode != 0:
        raise SandboxUnavailable(f"could not give the home its disk ({' '.join(cmd[:2])}: "
                                 f"{(done.stderr or done.stdout).strip()}); the hub needs root, e2fsprogs and "
                                 "loop devices to limit the size of homes")


def mount_home(home: Path, size: int, uid: int, gid: int) -> None:
    """Mount `home`'s image (made, filled from the old home, or grown as needed) over `home`."""
    if os.path.ismount(home):
        return
    image = image_of(home)
    image.parent.mkdir(mode=0o700, exist_ok=True)
    if not image.exists():
        _make_image(image, size, home)
    elif image.stat().st_size < size:
        os.truncate(image, size)
        _run("e2fsck", "-fy", str(image))
        _run("resize2fs", str(image))
    elif image.stat().st_size > size:
        log.warning("%s is %d bytes, more than the limit of %d: it is kept (shrinking could lose files)",
                    image, image.stat().st_size, size)
    _run("mount", "-o", "loop,nosuid,nodev", str(image), str(home))
    os.chown(home, uid, gid)
    home.chmod(0o700)
    try:
        (home / "lost+found").rmdir()  # e2fsck makes it again if it ever needs it
    except OSError:
        pass


def _make_image(image: Path, size: int, home: Path) -> None:
    """A new sparse image of `size` bytes, holding a copy of what `home` holds now."""
    partial = image.with_suffix(".partial")
    with open(partial, "wb") as f:
        f.truncate(size)
    _run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1", str(partial))
    if home.exists() and any(home.iterdir()):
        with tempfile.TemporaryDirectory(dir=image.parent) as staging:
            _run("mount", "-o", "loop,nosuid,nodev", str(partial), staging)
            try:
                _run("cp", "-a", f"{home}/.", staging)
            finally:
                _run("umount", staging)
    os.replace(partial, image)
    for moved in list(home.iterdir()) if home.exists() else []:  # the copy is on the disk now
        shutil.rmtree(moved) if moved.is_dir() and not moved.is_symlink() else moved.unlink()


def unmount_home(home: Path) -> None:
    """Unmount `home`'s disk once its server has stopped (lazily if something still holds it)."""
    if os.path.ismount(home):
        done = subprocess.run(["umount", str(home)], capture_output=True, env={"PATH": SYSTEM_PATH})
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(home)], capture_output=True, env={"PATH": SYSTEM_PATH})
