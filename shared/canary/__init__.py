"""Canaries (#25): a teams evaluation suite on the current and the coming version. ``cli`` adds `canary`."""
