"""The front ends: filter text (parser, lowering, completion) and filter JSON (checker,
models), each into the validated form (`helicone_filter.form`)."""
