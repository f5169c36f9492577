# The qcc-mcp container image: a static binary on distroless (CA
# certificates, no shell), run as a non-root user, MCP over stdio by default.
#
#   docker build --build-arg VERSION=1.2.3 -t ghcr.io/qcc-mcp/qcc-mcp:1.2.3 .
#   docker run --rm -i -e QCC_APP_KEY -e QCC_SECRET_KEY ghcr.io/qcc-mcp/qcc-mcp:1.2.3
#   docker run --rm -p 8080:8080 -e QCC_APP_KEY -e QCC_SECRET_KEY -e MCP_AUTH_TOKEN \
#     ghcr.io/qcc-mcp/qcc-mcp:1.2.3 --transport http --addr 0.0.0.0:8080
#
# The go build line is the one .ci/release uses (a test keeps them equal),
# so an image and a release binary of one version are built the same way.

FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w -buildid= -X github.com/qcc-mcp/qcc-mcp/internal/version.Version=${VERSION}" -o /out/qcc-mcp .

FROM gcr.io/distroless/static-debian12:nonroot
LABEL io.modelcontextprotocol.server.name="io.github.qcc-mcp/qcc-mcp"
LABEL org.opencontainers.image.source="https://github.com/qcc-mcp/qcc-mcp"
COPY --from=build /out/qcc-mcp /usr/local/bin/qcc-mcp
# distroless's "nonroot" user, by number so that runAsNonRoot can check it.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/qcc-mcp"]
