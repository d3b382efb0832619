# Sourced by the load tests (scripts/loadtest.sh, loadtest-replicas.sh, soak.sh,
# bench/http_frontends.sh) from the repository root: installs and builds what they need, trains
# their model once (kept in build/loadtest/: a 100-unit cross-entropy model of the Diginetica
# training data, 1 epoch) and defines:
#   $data, $model          the Diginetica data folder and the model file
#   wait_ready PORT [PATH] waits until http://127.0.0.1:PORT/PATH (default /ready) answers
data="${GRU4REC_DATA_DIR:-../shared/data}/diginetica-cikm16/gcegnn-preprocessed"
[ -d "$data" ] || { echo "error: no Diginetica data at $data" >&2; exit 1; }
scripts/install-deps.sh >&2
mkdir -p build/loadtest
scripts/build.sh gru4rec_cli > build/loadtest/build.log 2>&1 || { cat build/loadtest/build.log >&2; exit 1; }
model=build/loadtest/diginetica-100.g4r
if [ ! -f "$model" ]; then
  build/cli/gru4rec train "$data/train.tsv" -ps layers=100,n_epochs=1,loss=cross-entropy \
    -s "$model" -q --progress none >&2
fi

wait_ready() {
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$1${2:-/ready}" > /dev/null 2>&1 && return 0
    sleep 0.2
  done
}
