"""The resolver loop and what it decides with: candidate picking, placement, decision records, git dependencies, workspaces."""
