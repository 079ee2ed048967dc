# Gatehouse container image, Debian 12 only: the build stage builds the way
# the README does (scripts/install-deps.sh, then scripts/build.sh); the
# runtime stage is debian:12-slim with just the shared libraries the two
# binaries load, running as the non-root user gatehouse (uid/gid 10001, as
# charts/gatehouse expects).
#
#   docker build -t gatehouse:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9090:9090 \
#     -v "$PWD/policies:/etc/gatehouse/policies:ro" \
#     -v "$PWD/secret:/etc/gatehouse/secret:ro" \
#     -v gatehouse-data:/var/lib/gatehouse gatehouse:0.1.0
#
# with policies/policies.yaml, secret/credentials.yaml and
# secret/pseudonym-key: the same layout the Helm chart mounts (it passes
# the flags itself). Arguments after the image name replace the defaults.
#
# No Docker engine runs where Gatehouse is developed, so no test builds this
# file: keep it plain.

FROM debian:12 AS build
WORKDIR /src
# Packages first, so this layer stays cached while sources change.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN INSTALL_CHART_TOOLS=0 ./scripts/install-deps.sh
COPY . .
RUN BUILD_DIR=/src/build ./scripts/build.sh --target gatehouse gatehousectl
# The Debian packages owning every shared library the binaries load: what
# the runtime stage installs (dpkg knows merged-/usr paths without /usr).
RUN for bin in build/service/gatehouse build/client/gatehousectl; do \
      ldd "$bin"; \
    done | awk '/=> \// { print $3 }' | sort -u | while read -r lib; do \
      real=$(readlink -f "$lib"); \
      dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}"; \
    done | cut -d: -f1 | sort -u > /runtime-packages \
 && cat /runtime-packages

FROM debian:12-slim
COPY --from=build /runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && xargs apt-get install -y --no-install-recommends ca-certificates \
      < /tmp/runtime-packages \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid gatehouse --no-create-home \
      --home-dir /var/lib/gatehouse --shell /usr/sbin/nologin gatehouse \
 && install -d -o gatehouse -g gatehouse -m 0750 /var/lib/gatehouse
COPY --from=build /src/build/service/gatehouse /src/build/client/gatehousectl \
     /usr/local/bin/
COPY config/policies.example.yaml /etc/gatehouse/policies/policies.example.yaml
USER 10001:10001
WORKDIR /var/lib/gatehouse
# gRPC, metrics.
EXPOSE 50051 9090
ENTRYPOINT ["/usr/local/bin/gatehouse"]
CMD ["--listen=0.0.0.0:50051", "--metrics_listen=0.0.0.0:9090", \
     "--data_dir=/var/lib/gatehouse/data", \
     "--policies=/etc/gatehouse/policies/policies.yaml", \
     "--credentials=/etc/gatehouse/secret/credentials.yaml", \
     "--pseudonym_key_file=/etc/gatehouse/secret/pseudonym-key"]
