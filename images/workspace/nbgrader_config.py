# nbgrader in a learner's workspace: every exchange operation goes to the hub's exchange service
# ($TRUONGSO_EXCHANGE_URL, set by the spawner) with the workspace's own hub token.
from graders.exchange import use_hub_exchange

c = get_config()  # noqa: F821
use_hub_exchange(c)
