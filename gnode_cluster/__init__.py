"""gnode_cluster: several nodes on one machine, on a network that behaves like Maelstrom's."""
