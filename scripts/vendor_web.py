"""Vendor the dashboard's front-end libraries from the npm registry (run by hand, never at
run time): ``python scripts/vendor_web.py``.

Each library is fetched with ``npm pack`` at the pinned version below, its built file and
licence are copied into ``src/evopipe/server/web/static/vendor/<name>/``, and
``VENDOR.json`` records what came from where, so the dashboard needs no network and no CDN.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "src" / "evopipe" / "server" / "web" / "static" / "vendor"

# name, pinned version, the built file in the package, the licence file
LIBRARIES = (
    ("htmx.org", "2.0.11", "dist/htmx.min.js", "LICENSE"),
    ("cytoscape", "3.35.0", "dist/cytoscape.min.js", "LICENSE"),
    ("cytoscape-dagre", "4.0.1", "dist/cytoscape-dagre.min.js", "LICENSE"),
    ("chart.js", "4.6.1", "dist/chart.umd.min.js", "LICENSE.md"),
)


def _pack(name: str, version: str, work: Path) -> Path:
    out = subprocess.run(
        ["npm", "pack", "--silent", f"{name}@{version}"],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = work / out.stdout.strip().splitlines()[-1]
    target = work / name
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="data")
    return target / "package"


def main() -> None:
    manifest = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, version, built, licence in LIBRARIES:
            package = _pack(name, version, Path(tmp))
            meta = json.loads((package / "package.json").read_text())
            folder = DEST / name
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            shutil.copy2(package / built, folder / Path(built).name)
            shutil.copy2(package / licence, folder / "LICENSE")
            manifest.append(
                {
                    "name": name,
                    "version": meta["version"],
                    "license": meta.get("license"),
                    "file": f"{name}/{Path(built).name}",
                    "source": f"https://registry.npmjs.org/{name}/-/"
                    f"{name.split('/')[-1]}-{version}.tgz",
                }
            )
    (DEST / "VENDOR.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"vendored {len(manifest)} libraries into {DEST.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
