"""npm's rules as pure functions over values: semver, specs, names, integrity, platform, overrides, package.json, packuments, .npmrc keys. No I/O; imports nothing from core but errors."""
