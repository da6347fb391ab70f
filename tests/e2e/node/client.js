// A second client, in another language, built from the same protos at run time.
// Usage: node client.js HOST:PORT CLIENT_ID  -> prints the account as JSON.
"use strict";
const path = require("path");
const tools = path.resolve(__dirname, "../../../.tools/node_modules");
const grpc = require(path.join(tools, "@grpc/grpc-js"));
const protoLoader = require(path.join(tools, "@grpc/proto-loader"));

const protos = path.resolve(__dirname, "../../../protos");
const definition = protoLoader.loadSync("harbour/api/v1/accounts.proto", {
  includeDirs: [protos],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
});
const api = grpc.loadPackageDefinition(definition).harbour.api.v1;
const [address, clientId] = process.argv.slice(2);
const accounts = new api.AccountsService(address, grpc.credentials.createInsecure());

function call(method, request, principal) {
  const metadata = new grpc.Metadata();
  metadata.set("x-harbour-principal", principal);
  return new Promise((resolve, reject) =>
    accounts[method](request, metadata, (error, reply) => (error ? reject(error) : resolve(reply))),
  );
}

async function main() {
  const opened = await call(
    "OnboardClient",
    {
      request_id: `node-onboard-${clientId}`,
      client_id: clientId,
      securities_margin_account_id: "SMA-NODE",
      credit_grade: "AA",
      credit_limit: { asset: "HKD", value: "250000.00" },
      margin_agreement_version: "MA-2026",
      risk_disclosure_version: "VARD-1",
    },
    "node-ops:operator",
  );
  // Onboarding proposes the grade and the limit: a second person (a credit officer) approves.
  let approved = opened;
  for (const proposalId of opened.fact_proposal_ids) {
    approved = await call(
      "ApproveClientFact",
      { request_id: `node-approve-${clientId}-${proposalId}`, client_id: clientId, proposal_id: proposalId },
      "node-credit:risk",
    );
  }
  const deposited = await call(
    "DepositCash",
    {
      request_id: `node-deposit-${clientId}`,
      client_id: clientId,
      amount: { asset: "HKD", value: "1234.56" },
      reference: "node",
    },
    "node-desk:trading-platform",
  );
  let refusal = null;
  try {
    await call(
      "WithdrawCash",
      {
        request_id: `node-overdraw-${clientId}`,
        client_id: clientId,
        amount: { asset: "HKD", value: "99999.00" },
        reference: "node",
      },
      "node-desk:trading-platform",
    );
  } catch (error) {
    refusal = { code: error.code, details: error.details };
  }
  const { account } = await call(
    "GetAccount",
    { client_id: clientId, min_position: deposited.result.position },
    "node-desk:trading-platform",
  );
  console.log(
    JSON.stringify({
      proposed: opened.fact_proposal_ids,
      may_borrow: approved.may_borrow,
      deposited: deposited.result,
      refusal,
      account,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
