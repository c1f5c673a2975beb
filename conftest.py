# Loads the fixture-test plugin when pytest runs from a checkout; an installed gnode
# registers the same module through its pytest11 entry point instead.
pytest_plugins = ["gnode_pytest"]
