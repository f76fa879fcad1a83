# herd's container image: herdd (the entrypoint), herdctl and kubesim on
# Debian bookworm, run as a non-root user. scripts/image-test.sh builds and
# runs it with buildah; docker works the same:
#
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) -t herd:0.1.0 .
#
# The runtime stage adds to Debian only the binaries and the shared
# libraries ldd says they load (scripts/image-rootfs.sh): no compiler, no
# package manager run, nothing else.
#
# BINARIES=prebuilt takes the binaries and libraries of a build on a
# bookworm host (build/image-rootfs, see the prebuilt stage) instead of
# compiling them here: the quick image (scripts/image-test.sh --prebuilt).

ARG DEBIAN=debian:bookworm
ARG BINARIES=build

# ---- build: the project's own dependency script and build ------------------
FROM ${DEBIAN} AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --run && apt-get install -y -qq --no-install-recommends binutils >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERD_BUILD_TESTS=OFF -DHERD_BUILD_BENCH=OFF \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
 && cmake --build build -j"$(nproc)" --target herdd herdctl kubesim \
 && scripts/image-rootfs.sh build/bin /out

# ---- prebuilt: a host build laid out by scripts/image-rootfs.sh -----------
# (on a bookworm host: scripts/image-rootfs.sh build/bin build/image-rootfs)
FROM ${DEBIAN} AS prebuilt
COPY build/image-rootfs/ /out/

FROM ${BINARIES} AS binaries

# ---- runtime ---------------------------------------------------------------
FROM ${DEBIAN} AS runtime
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/herd-dev/herd
LABEL org.opencontainers.image.title="herd" \
      org.opencontainers.image.description="Rolls out, scales, purges and kills Kubernetes workloads over gRPC" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=binaries /out/ /
USER 65532:65532
WORKDIR /tmp
EXPOSE 50051 8080
ENTRYPOINT ["/usr/local/bin/herdd"]
CMD ["--in-cluster", "--grpc-listen=0.0.0.0:50051", "--http-listen=0.0.0.0:8080"]
