"""Fixtures shared by the Python tests."""
import pytest


@pytest.fixture
def plugin_dir(tmp_path):
    """Write handler plugins into a fresh folder: plugin_dir({"name.py": source})."""
    def write(files):
        folder = tmp_path / ("plugins_%d" % len(list(tmp_path.iterdir())))
        folder.mkdir()
        for name, source in files.items():
            (folder / name).write_text(source)
        return folder
    return write
