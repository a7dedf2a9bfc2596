"""What the image must hold for the portal's proposals through Git (runtime/gitpush.py drives the
git command): git runs under the chart's security context (user 65532, read-only root filesystem,
/tmp an emptyDir) and pushes a commit to a repository by URL."""

from __future__ import annotations

import subprocess

from tests.delivery.kubelet import LIMITS, PODMAN

SCRIPT = """
set -eu
git init -q --bare /tmp/remote.git
git clone -q file:///tmp/remote.git /tmp/work
cd /tmp/work
echo 'kind: MicroApp' > app.yaml
git add app.yaml
git -c user.name=portal -c user.email=portal@example.com commit -q -m proposal
git push -q origin HEAD:refs/heads/microapp/team-a/app-1
git --git-dir=/tmp/remote.git log --format='%an %s' microapp/team-a/app-1
"""


def test_git_pushes_under_the_charts_security_context(image: str) -> None:
    proc = subprocess.run(
        [
            *PODMAN,
            "run",
            "--rm",
            *LIMITS,
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--user",
            "65532:65532",
            *("--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--network", "none"),
            *("--entrypoint", "sh", image, "-c", SCRIPT),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"git in {image} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip().splitlines()[-1] == "portal proposal"
