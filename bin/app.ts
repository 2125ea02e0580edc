#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { FeatureStoreStack } from '../lib/infra/feature-store-stack.js';
import { loadFeatureRepo } from '../lib/repo/load-feature-repo.js';

// The stack is built from a feature repo, so what is deployed follows what is declared.
// Choose the repo with `cdk synth -c repo=path/to/repo`; the example is the default.
const app = new App();
const repoDir = (app.node.tryGetContext('repo') as string | undefined) ?? 'examples/transactions';
const repo = await loadFeatureRepo(repoDir);
new FeatureStoreStack(app, `fstore-${repo.config.project.replaceAll('_', '-')}`, {
  project: repo.config.project,
});
app.synth();
