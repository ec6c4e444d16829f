"""Several servers in one Docker Swarm: the swarm verbs (swarm.py) and the private registry (registry.py)."""
