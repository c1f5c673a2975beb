# Loads the fixture-test plugin. A project of your own loads it the same way, with this
# line in its top-level conftest.py (gnode registers no pytest entry point: collecting
# JSON files is for projects that ask for it).
pytest_plugins = ["gnode_pytest"]
