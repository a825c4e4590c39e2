#!/bin/sh
# Create the project's namespace once (idempotent). Runs in the temporalio/admin-tools image
# after the server is healthy. TEMPORAL_ADDRESS, NAMESPACE and RETENTION come from compose.
set -eu

until temporal operator cluster health --address "$TEMPORAL_ADDRESS" | grep -q SERVING; do
    echo "waiting for the Temporal server at $TEMPORAL_ADDRESS"
    sleep 2
done
if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1; then
    echo "namespace $NAMESPACE exists"
else
    temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" \
        --retention "$RETENTION" --description "Khuyến công Flow: đề án khuyến công"
    echo "namespace $NAMESPACE created (retention $RETENTION)"
fi
