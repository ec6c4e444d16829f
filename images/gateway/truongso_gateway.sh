#!/bin/bash
# Relays every port of $TRUONGSO_HUB_PORTS from the learners' networks to the same port of the hub
# ($TRUONGSO_HUB_IP). Relays towards workspaces are added and removed by the hub (`docker exec … socat …`).
# Ends when any relay ends, so that Docker's restart policy brings the whole gateway back.
set -eu
for port in $TRUONGSO_HUB_PORTS; do
    socat "TCP-LISTEN:${port},fork,reuseaddr" "TCP:${TRUONGSO_HUB_IP}:${port}" &
done
wait -n
