"""The committed viewer bundle agrees with its sources, without Node (docs/imaging/viewer.md, "Building it")."""
import json
import re
import shutil
from pathlib import Path

from imaging import viewer_bundle

BUNDLE = viewer_bundle.BUNDLE_DIR


def test_committed_bundle_was_built_from_the_committed_sources() -> None:
    recorded = viewer_bundle.recorded_hash()
    assert recorded is not None, "imaging/static/imaging/viewer/SOURCE.sha256 is missing: run make viewer"
    assert viewer_bundle.source_hash() == recorded, "the viewer's sources changed since the bundle was built: run make viewer"


def test_the_hash_covers_every_source_file(tmp_path: Path) -> None:
    """A change to any source (a src/ file, the lockfile, the Vite config) or a new file changes the hash."""
    copy = tmp_path / "viewer"
    for path in viewer_bundle.source_files():
        target = copy / path.relative_to(viewer_bundle.SOURCE_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    base = viewer_bundle.source_hash(copy)
    assert base == viewer_bundle.source_hash()
    for name in ("src/main.js", "package-lock.json", "vite.config.js"):
        original = (copy / name).read_bytes()
        (copy / name).write_bytes(original + b"\n")
        assert viewer_bundle.source_hash(copy) != base, name
        (copy / name).write_bytes(original)
    (copy / "src" / "extra.js").write_text("export {};\n")
    assert viewer_bundle.source_hash(copy) != base
    # node_modules and the build output are not sources
    assert not any("node_modules" in p.parts for p in viewer_bundle.source_files())


def test_lockfile_pins_what_package_json_names() -> None:
    package = json.loads((viewer_bundle.SOURCE_DIR / "package.json").read_text())
    lock = json.loads((viewer_bundle.SOURCE_DIR / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
    for name in ("@cornerstonejs/core", "@cornerstonejs/tools"):
        assert lock["packages"][f"node_modules/{name}"]["version"] == package["dependencies"][name]
        assert "@cornerstonejs/dicom-image-loader" not in package["dependencies"]  # the server decodes frames


def test_bundle_has_the_stable_names_and_loads_nothing_from_another_origin() -> None:
    entry = (BUNDLE / "viewer.js").read_text()
    assert (BUNDLE / "viewer.css").exists()
    # the entry loads the library chunk by a relative path, and that chunk is committed
    chunks = re.findall(r"chunks/app-[\w-]+\.js", entry)
    assert chunks and all((BUNDLE / c).exists() for c in chunks)
    for path in BUNDLE.rglob("*.js"):
        text = path.read_text(errors="replace")
        # no <script>/import/fetch of an absolute URL: everything is same-origin and relative to viewer.js
        assert not re.search(r"""(?:import\(|from|fetch\()\s*["']https?://""", text), path.name
        assert "cdn.jsdelivr" not in text and "unpkg.com" not in text, path.name
    partial = (Path(viewer_bundle.__file__).parent / "templates" / "imaging" / "viewer" / "_viewer.html").read_text()
    assert "{% static 'imaging/viewer/viewer.js' %}" in partial and 'json_script:"viewer-config"' in partial
