"""`dfl demo`: the whole job on one machine, each participant its own OS process."""
