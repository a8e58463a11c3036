#!/usr/bin/env bash
# Replays the README's curl session against a running invsys and prints each
# command with its real response (how the README's session was made):
#
#   docs/curl-session.sh [http://127.0.0.1:8080]
#
# Needs an admin key: $INVSYS_KEY, else the one scripts/run.sh saved in
# var/admin-key.
set -euo pipefail
base="${1:-http://127.0.0.1:8080}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEY="${INVSYS_KEY:-$(cat "$here/var/admin-key" 2>/dev/null || true)}"
[[ -n "$KEY" ]] || { echo "curl-session.sh: set INVSYS_KEY (or run scripts/run.sh once)" >&2; exit 2; }
export KEY
# Shown as written in each command; eval expands $KEY.
auth='-H "Authorization: Bearer $KEY"'

show() {
    printf '$ %s\n' "$*"
    eval "$@"
    printf '\n\n'
}
# The value of a JSON string field in the last response (no jq on a fresh machine).
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$2" | head -n1; }

show "curl -s $base/api/health"
show "curl $auth -s $base/api/types"
show "curl $auth -s -X POST $base/api/keys -d '{\"name\": \"dashboard\", \"role\": \"reader\"}'"
show "curl $auth -s $base/metrics | grep '^invsys_requests_total' | head -n 3"
show "curl $auth -si $base/api/cars -d '{\"name\": \"Car1\", \"attributes\": {\"seats\": 5}}'"
car=$(field id "$(curl -H "Authorization: Bearer $KEY" -s "$base/api/cars?limit=1")")
show "curl $auth -s $base/api/lorries -d '{\"name\": \"Lorry1\", \"attributes\": {\"max_load_kg\": 12000}}'"
show "curl $auth -s $base/api/trucks -d '{\"name\": \"Truck1\"}'"
show "curl $auth -s '$base/api/cars?limit=10'"
show "curl $auth -s $base/api/cars/$car"
show "curl $auth -s -X PATCH $base/api/cars/$car -d '{\"attributes\": {\"seats\": 7}}'"
show "curl $auth -si $base/api/cars/$car/allocations -d '{\"from_datetime\": \"2030-01-01T10:00:00Z\", \"to_datetime\": \"2030-01-01T12:00:00Z\", \"allocation_type\": \"booking\", \"description\": \"Airport run\", \"dump\": {\"customer\": 42, \"price\": 12.50}}'"
allocation=$(field id "$(curl -H "Authorization: Bearer $KEY" -s "$base/api/cars/$car/allocations?limit=1")")
show "curl $auth -s $base/api/cars/$car/allocations -d '{\"from_datetime\": \"2030-01-01T11:00:00+01:00\", \"to_datetime\": \"2030-01-01T13:00:00+01:00\", \"allocation_type\": \"booking\"}'"
show "curl $auth -s $base/api/cars/$car/allocations -d '{\"from_datetime\": \"2030-01-01T12:00:00\", \"to_infinity\": true, \"allocation_type\": \"maintenance\"}'"
show "curl $auth -s '$base/api/cars/$car/allocations?from=2030-01-01T11:00:00Z&to=2030-01-02T00:00:00Z'"
show "curl $auth -s $base/api/cars/$car/allocations/$allocation"
show "curl $auth -s -X PATCH $base/api/cars/$car/allocations/$allocation -d '{\"from_datetime\": \"2030-01-01T09:00:00Z\"}'"
# Availability, free gaps and "book any free one" (docs/api.md).
show "curl $auth -s $base/api/cars -d '{\"name\": \"Car3\", \"attributes\": {\"seats\": 2}}'"
show "curl $auth -s '$base/api/cars/availability?from=2030-01-01T10:00:00Z&to=2030-01-01T11:00:00Z'"
show "curl $auth -s '$base/api/cars/$car/free?from=2030-01-01T00:00:00Z&to=2030-01-02T00:00:00Z'"
show "curl $auth -s '$base/api/cars/$car/free'"
show "curl $auth -si $base/api/cars/allocations -d '{\"from_datetime\": \"2030-01-01T10:00:00Z\", \"to_datetime\": \"2030-01-01T11:00:00Z\", \"allocation_type\": \"booking\"}'"
show "curl $auth -s $base/api/cars/allocations -d '{\"from_datetime\": \"2030-01-01T10:30:00Z\", \"to_datetime\": \"2030-01-01T11:30:00Z\", \"allocation_type\": \"booking\"}'"
show "curl $auth -s $base/api/cars/allocations -d '{\"from_datetime\": \"2030-01-01T10:00:00Z\", \"to_datetime\": \"2030-01-01T11:00:00Z\", \"allocation_type\": \"booking\", \"candidates\": [\"$car\", \"not-an-id\"]}'"
# A retried POST with the same Idempotency-Key: the first answer again, nothing created twice.
show "curl $auth -si $base/api/trucks -H 'Idempotency-Key: 7b1e0f62-truck2' -d '{\"name\": \"Truck2\"}'"
show "curl $auth -si $base/api/trucks -H 'Idempotency-Key: 7b1e0f62-truck2' -d '{\"name\": \"Truck2\"}'"
# The car's ETag is "2" since its PATCH: a change made against version 1 is refused.
show "curl $auth -si -X PATCH $base/api/cars/$car -H 'If-Match: \"1\"' -d '{\"name\": \"Car1 renamed\"}'"
show "curl $auth -s $base/api/cars/$car/allocations -d '{\"from_datetime\": \"2030-02-30T10:00:00Z\", \"to_datetime\": \"2030-01-01T12:00:00Z\", \"allocation_type\": \"booking\", \"colour\": \"red\"}'"
show "curl $auth -s $base/api/cars -d '{\"name\": \"Car2\", \"attributes\": {\"seats\": 1.00000000000000000000000000001e-340}}'"
show "curl $auth -sI $base/api/cars/$car"
show "curl $auth -si -X DELETE $base/api/cars/$car"
show "curl $auth -si -X DELETE $base/api/cars/$car/allocations/$allocation"
show "curl $auth -si -X DELETE '$base/api/cars/$car?force=true'"
show "curl $auth -s $base/api/cars/$car"
show "curl $auth -si -X PUT $base/api/cars"
show "curl $auth -s $base/api/boats"
show "curl $auth -s $base/index.html"
