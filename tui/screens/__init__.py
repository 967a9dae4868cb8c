"""The app's screens (Live, Why, Network, Summary, and the compact inline panel)."""
