# syntax=docker/dockerfile:1.7
# One image for api, worker and engine (the command picks which). Multi-stage: the build stage has the dev
# dependencies (TypeScript, the Prisma generator) and makes dist/; the final stage has production dependencies
# only (npm ci --omit=dev), the compiled code and the Prisma migrations, and runs as the unprivileged `node`.
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's CPU binaries ship in the npm package; its install script
# would only download optional GPU builds.
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/samples ./samples
USER node
# api 3000, engine 7000, worker metrics 9464 (METRICS_PORT)
EXPOSE 3000 7000 9464
CMD ["node", "dist/apps/api/src/main.js"]
