"""Pure domain model of the hall queue: no Flask, no SQL, clock passed in."""
