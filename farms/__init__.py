"""Farm management: farms, plots, plantings and the farm log."""
