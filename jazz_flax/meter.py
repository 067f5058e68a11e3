"""The meter every part of jazz_flax shares: measures of four beats."""

BEATS = 4  # beats per measure: every corpus is cut into 4-beat measures
