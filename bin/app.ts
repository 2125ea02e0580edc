#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { deployedRepo } from '../lib/infra/deployed-repo.js';
import { FeatureStoreStack } from '../lib/infra/feature-store-stack.js';
import { loadFeatureRepo } from '../lib/repo/load-feature-repo.js';

// The stack is built from a feature repo, so what is deployed follows what is declared.
// Choose the repo with `cdk synth -c repo=path/to/repo`; the example is the default.
// `-c apiAuth=apiKey` serves the API with API keys and a usage plan instead of IAM (SigV4).
const app = new App();
const repoDir = (app.node.tryGetContext('repo') as string | undefined) ?? 'examples/transactions';
const apiAuth = app.node.tryGetContext('apiAuth') as string | undefined;
if (apiAuth !== undefined && apiAuth !== 'iam' && apiAuth !== 'apiKey') {
  throw new Error(`context apiAuth is "${apiAuth}"; use iam (the default) or apiKey`);
}
const repo = await loadFeatureRepo(repoDir);
new FeatureStoreStack(app, `fstore-${repo.config.project.replaceAll('_', '-')}`, {
  repo: deployedRepo(repo.config, repo.validated),
  ...(apiAuth ? { api: { auth: apiAuth } } : {}),
});
// cdk-nag's AwsSolutions rules run on every synth; each exception is acknowledged in code with its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
