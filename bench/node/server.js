"use strict";
// Baseline D of the benchmark (bench/README.md): GET /api/me behind jsonwebtoken's verify()
// on Express, one process. bench/servers.py starts it pinned to the server core with
// PORT, the project's JWT secret (AUTHAPP_JWT_SECRET_KEY) and its issuer and audience
// (BENCH_JWT_ISSUER, BENCH_JWT_AUDIENCE, from config.Config) in the environment.

const express = require("express");
const jwt = require("jsonwebtoken");

const CREATED_AT = "2025-01-01T00:00:00+00:00"; // as in bench/baseline_app.py

const { PORT, AUTHAPP_JWT_SECRET_KEY: secret } = process.env;
const verifyOptions = {
  algorithms: ["HS256"],
  issuer: process.env.BENCH_JWT_ISSUER,
  audience: process.env.BENCH_JWT_AUDIENCE,
};
if (!PORT || !secret || !verifyOptions.issuer || !verifyOptions.audience) {
  console.error("PORT, AUTHAPP_JWT_SECRET_KEY, BENCH_JWT_ISSUER and BENCH_JWT_AUDIENCE " +
                "must be set");
  process.exit(2);
}

const app = express();

app.get("/api/health", (_req, res) => {
  res.json({ status: "ok" });
});

app.get("/api/me", (req, res) => {
  const header = req.get("Authorization") || "";
  if (!header.startsWith("Bearer ")) {
    res.status(401).json({ msg: "Missing Authorization Header" });
    return;
  }
  let claims;
  try {
    claims = jwt.verify(header.slice("Bearer ".length), secret, verifyOptions);
  } catch (error) {
    res.status(401).json({ msg: error.message });
    return;
  }
  // Baseline B's @jwt_required() also refuses a refresh token here.
  if (claims.type !== "access") {
    res.status(422).json({ msg: "Only non-refresh tokens are allowed" });
    return;
  }
  res.json({ id: Number(claims.sub), username: "bench", created_at: CREATED_AT });
});

app.listen(Number(PORT), "127.0.0.1");
