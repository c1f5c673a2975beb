"""``python3 -m gnode_cluster test ...``: the same as the gnode-cluster command."""
import sys

from .cli import main

sys.exit(main())
