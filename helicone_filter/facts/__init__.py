"""What every layer reads: Helicone's fields and operators, what Helicone does with a
condition, how its columns compare, how moments and strings are written."""
