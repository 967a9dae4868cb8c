"""The resolver in parts: the loop, its queue, the tree builder, peers, picking, placement, decision records and their log on disk, git dependencies, workspaces."""
