"""python -m bprender.schemas: write the shipped JSON Schemas again from the TypedDicts."""
from . import write_all

for path in write_all():
    print(f"wrote {path}")
