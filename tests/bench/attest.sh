# scripts/bench attest: cella's attestation path against its anchors, all
# measured in this run. One line per figure, with the ratio and target.
#   1. documents verified per second, chain cached (verify_bench) vs one
#      raw ES384 verify with the same kind of key         target >= 0.8x
#   2. fresh sim documents per second (sim_bench, leaf pool warm) vs raw
#      ES384 signs                                        target >= 0.7x
#   3. HTTPS keep-alive requests per second on cella-ra-web's /healthz and
#      on a cached /v1/certificate vs nginx serving the same bytes as a
#      static file, both TLS 1.3 with a P-384 key, both without access
#      logs, one worker each, the same wrk command        target >= 0.8x
set -eu
: "${BUILD:?run through scripts/bench}"
: "${ROOT:?run through scripts/bench}"
T=$(mktemp -d /tmp/cella-bench.XXXXXX)
WRK="wrk -t1 -c16 -d${ATTEST_BENCH_SECONDS:-5}s"
pids=""
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
. "$ROOT/tests/bench/lib.sh"

ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }
field() { echo "$1" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p"; }

# 1. verify (the existing program; its first line is the cached chain)
v=$(CELLA_SOURCE_ROOT="$ROOT" "$BUILD/tests/bench/verify_bench" \
	"${VERIFY_BENCH_SECONDS:-2}" | grep '^verify_cached_per_s=')
echo "attest_verify_cached docs_per_s=$(field "$v" verify_cached_per_s) raw_es384_verify_per_s=$(field "$v" raw_es384_verify_per_s) ratio=$(field "$v" ratio) target=0.8"

# 2. sim documents (the existing program; burst: the leaf pool is warm)
s=$("$BUILD/tests/bench/sim_bench" --seconds "${SIM_BENCH_SECONDS:-3}" |
	grep '^sim_docs_per_s=')
echo "attest_sim_fresh docs_per_s=$(field "$s" sim_docs_per_s) raw_es384_sign_per_s=$(field "$s" raw_es384_sign_per_s) ratio=$(field "$s" ratio) cpu_ratio=$(field "$s" cpu_ratio) target=0.7"

# 3. HTTPS: cella-ra-web (sim provider) and nginx on free ports
free_port() { # the kernel picks one; released at once
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
"$BUILD/services/cella/cella" sim-ca init --dir "$T/ca" >/dev/null
"$BUILD/services/cella/cella" sim-ca issue --dir "$T/ca" --out "$T/enc" \
	>/dev/null
cat >"$T/ra.yaml" <<EOF
attestation:
  provider: sim
  sim: {ca: '$T/enc'}
  https: {listen: 'tcp://127.0.0.1:0', access_log: none}
  internal: {listen: 'ipc://$T/ra.sock'}
EOF
mkfifo "$T/ready"
"$BUILD/services/ra-web/cella-ra-web" --config "$T/ra.yaml" --ready-fd 3 \
	3>"$T/ready" 2>"$T/ra.log" &
pids="$pids $!"
read -r _ <"$T/ready" || { cat "$T/ra.log" >&2; exit 1; }
RA=https://$(sed -n 's/.*evt=ready https=tcp:\/\/\([0-9.:]*\) .*/\1/p' "$T/ra.log")

# nginx serves what ra-web serves, byte for byte, with the same key type
mkdir -p "$T/www" "$T/ngx"
chmod 755 "$T" "$T/www" # nginx workers may run as another user
curl -sk "$RA/healthz" >"$T/www/healthz"
curl -sk "$RA/v1/certificate" >"$T/www/certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes \
	-keyout "$T/ngx.key" -out "$T/ngx.pem" -days 2 -subj /CN=localhost \
	>/dev/null 2>&1
NPORT=$(free_port)
cat >"$T/nginx.conf" <<EOF
worker_processes 1;
daemon off;
error_log $T/ngx/error.log;
pid $T/ngx/nginx.pid;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $T/ngx/body;
	proxy_temp_path $T/ngx/proxy;
	fastcgi_temp_path $T/ngx/fastcgi;
	uwsgi_temp_path $T/ngx/uwsgi;
	scgi_temp_path $T/ngx/scgi;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$NPORT ssl;
		ssl_certificate $T/ngx.pem;
		ssl_certificate_key $T/ngx.key;
		ssl_protocols TLSv1.3;
		default_type application/json;
		location / { root $T/www; }
	}
}
EOF
nginx -c "$T/nginx.conf" -p "$T/ngx" 2>"$T/ngx/stderr" &
pids="$pids $!"
NG=https://127.0.0.1:$NPORT
wait_for 5 curl -skf -o /dev/null "$NG/healthz"
curl -sk "$NG/certificate" >"$T/ngx-cert"
cmp -s "$T/www/certificate" "$T/ngx-cert" || {
	echo "bench attest: nginx does not serve the same bytes" >&2
	exit 1
}

rps() { # best of two wrk runs
	best=0
	for _ in 1 2; do
		r=$($WRK "$1" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
		best=$(echo "$r $best" | awk '{print ($1 > $2) ? $1 : $2}')
	done
	echo "$best"
}

for what in healthz certificate; do
	path=$what
	[ "$what" = certificate ] && path=v1/certificate
	r=$(rps "$RA/$path")
	n=$(rps "$NG/$what")
	echo "attest_https_$what ra_web_req_s=$r nginx_req_s=$n bytes=$(wc -c <"$T/www/$what") ratio=$(ratio "$r" "$n") target=0.8 wrk='$WRK'"
done
