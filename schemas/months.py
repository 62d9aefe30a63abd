"""Calendar months as every contract names them: 'YYYY-MM' (no pandera here: cheap to import)."""

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
