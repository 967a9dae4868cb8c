"""Where manifests and tarballs come from: HTTP, the registry client, the manifest cache, local tarballs, the network doctor."""
