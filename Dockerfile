# cleaner as a container: the work of a Kubernetes Indexed Job or an AWS Batch array job.
# Build: docker build -t cleaner .   Run: docker run --rm -v "$PWD/work:/work" cleaner run --source s3://… --dest s3://…
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles on install.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY migrations ./migrations
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/migrations ./migrations
# The HTML report's script and styles are read from src/report at run time.
COPY --from=build /app/src/report/page.js /app/src/report/page.css ./src/report/
RUN ln -s /app/bin/cleaner.js /usr/local/bin/cleaner && useradd --uid 10001 --create-home cleaner && mkdir /work && chown cleaner /work
USER 10001
# State, input/, output/, errors/: an emptyDir is enough when --dest is set (a retried pod reconciles from the destination).
VOLUME /work
WORKDIR /work
ENTRYPOINT ["cleaner"]
CMD ["--help"]
