# shellcheck shell=bash
# The services tests need, all on 127.0.0.1, never real AWS. Sourced by scripts/test and
# scripts/lib/with-test-services; see docs/decisions/0003-test-services.md.
#
#   test_services_prepare_venv   .venv with moto and the AWS CLI (scripts/lib/test-requirements.txt);
#                                a no-op when .venv already holds exactly that list
#   test_services_start          prepare the venv, start moto_server on a free port, wait until it
#                                answers, export the test environment; stopped when the shell exits
#
# The environment tests get:
#   TRAILBELL_TEST_MOTO_ENDPOINT   http://127.0.0.1:PORT, the moto server
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   "testing"; no session token, no profile, no config files
#   AWS_REGION, AWS_DEFAULT_REGION us-east-1
#   AWS_EC2_METADATA_DISABLED      true: no instance-metadata credential lookups
#   AWS_ENDPOINT_URL               an address that resolves nowhere: an SDK client or `aws` command
#                                  that forgets its explicit moto endpoint fails instead of reaching AWS
#   PATH                           .venv/bin first, for `aws` and `moto_server`

TEST_SERVICES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TEST_SERVICES_VENV="$TEST_SERVICES_ROOT/.venv"
TEST_SERVICES_REQUIREMENTS="$TEST_SERVICES_ROOT/scripts/lib/test-requirements.txt"
# Where the venv records what it was built from.
TEST_SERVICES_STAMP="$TEST_SERVICES_VENV/.trailbell-requirements"
# How long moto may take to answer after it starts, in tenths of a second.
TEST_SERVICES_WAIT_TENTHS=300

test_services_tmp=""
test_services_moto_pid=""

# Stops what test_services_start started. Safe to call twice.
test_services_stop() {
    if [[ -n "$test_services_moto_pid" ]]; then
        kill "$test_services_moto_pid" 2>/dev/null || true
        wait "$test_services_moto_pid" 2>/dev/null || true
        test_services_moto_pid=""
    fi
    if [[ -n "$test_services_tmp" ]]; then
        rm -rf "$test_services_tmp"
        test_services_tmp=""
    fi
}

# What the venv must be built from: the requirements and the Python that runs them.
test_services_wanted_stamp() {
    local python=$1
    {
        "$python" -c 'import sys; print(sys.version)'
        cat "$TEST_SERVICES_REQUIREMENTS"
    } | sha256sum | cut -d' ' -f1
}

# Makes .venv hold exactly scripts/lib/test-requirements.txt; fast when it already does. Serialised
# with a lock: several checkouts' scripts may run at once in one tree.
test_services_prepare_venv() {
    local python=${PYTHON:-python3}
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "error: $python is not installed; the test services (moto, the AWS CLI) need Python 3.9+" >&2
        return 2
    fi
    local wanted
    wanted="$(test_services_wanted_stamp "$python")"
    mkdir -p "$TEST_SERVICES_ROOT/target"
    (
        if command -v flock >/dev/null 2>&1; then
            exec 9>"$TEST_SERVICES_ROOT/target/.test-services-venv.lock"
            flock 9
        fi
        if [[ -x "$TEST_SERVICES_VENV/bin/moto_server" && -f "$TEST_SERVICES_STAMP" ]] &&
            [[ "$(cat "$TEST_SERVICES_STAMP")" == "$wanted" ]]; then
            exit 0
        fi
        echo "Installing moto and the AWS CLI into .venv (scripts/lib/test-requirements.txt)"
        rm -rf "$TEST_SERVICES_VENV"
        "$python" -m venv "$TEST_SERVICES_VENV"
        "$TEST_SERVICES_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            --no-input -r "$TEST_SERVICES_REQUIREMENTS"
        echo "$wanted" >"$TEST_SERVICES_STAMP"
    )
}

# A TCP port free on 127.0.0.1 right now.
test_services_free_port() {
    "$TEST_SERVICES_VENV/bin/python" -c \
        'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether moto answers HTTP on $1.
test_services_moto_answers() {
    curl --silent --fail --max-time 1 --output /dev/null "http://127.0.0.1:$1/moto-api/" 2>/dev/null
}

# Starts moto_server on a free port and waits until it answers; three tries (another process may
# take the port between choosing and binding it).
test_services_start_moto() {
    local attempt port tenths
    for attempt in 1 2 3; do
        port="$(test_services_free_port)"
        "$TEST_SERVICES_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" \
            >"$test_services_tmp/moto.log" 2>&1 &
        test_services_moto_pid=$!
        for ((tenths = 0; tenths < TEST_SERVICES_WAIT_TENTHS; tenths++)); do
            if test_services_moto_answers "$port"; then
                export TRAILBELL_TEST_MOTO_ENDPOINT="http://127.0.0.1:$port"
                echo "moto_server listening on $TRAILBELL_TEST_MOTO_ENDPOINT (pid $test_services_moto_pid)"
                return 0
            fi
            if ! kill -0 "$test_services_moto_pid" 2>/dev/null; then
                break
            fi
            sleep 0.1
        done
        echo "warning: moto_server did not answer on port $port (attempt $attempt):" >&2
        tail -n 20 "$test_services_tmp/moto.log" >&2 2>/dev/null || true
        kill "$test_services_moto_pid" 2>/dev/null || true
        wait "$test_services_moto_pid" 2>/dev/null || true
        test_services_moto_pid=""
    done
    echo "error: moto_server did not start; see the log above" >&2
    return 2
}

# The environment tests run in: dummy credentials, no way to real AWS.
test_services_export_env() {
    local name
    for name in AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ROLE_ARN \
        AWS_ROLE_SESSION_NAME AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
        AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN \
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE AWS_CA_BUNDLE; do
        unset "$name"
    done
    while IFS='=' read -r name _; do
        unset "$name"
    done < <(env | grep '^AWS_ENDPOINT_URL_' || true)
    export AWS_ACCESS_KEY_ID=testing
    export AWS_SECRET_ACCESS_KEY=testing
    export AWS_REGION=us-east-1
    export AWS_DEFAULT_REGION=us-east-1
    export AWS_EC2_METADATA_DISABLED=true
    export AWS_CONFIG_FILE="$test_services_tmp/aws-config-none"
    export AWS_SHARED_CREDENTIALS_FILE="$test_services_tmp/aws-credentials-none"
    # .invalid never resolves (RFC 2606): a client without the explicit moto endpoint fails here.
    export AWS_ENDPOINT_URL="http://explicit-moto-endpoint-required.invalid"
    export PATH="$TEST_SERVICES_VENV/bin:$PATH"
}

# Prepares the venv (unless the caller did), starts moto, exports the test environment. Installs an
# EXIT trap that stops moto however the shell ends; callers with their own EXIT trap call
# test_services_stop from it instead.
test_services_start() {
    test_services_prepare_venv
    test_services_tmp="$(mktemp -d "${TMPDIR:-/tmp}/trailbell-test-services.XXXXXX")"
    trap test_services_stop EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    test_services_start_moto
    test_services_export_env
}
