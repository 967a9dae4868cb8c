"""The app's screens: Live, Why, Network, Summary."""
