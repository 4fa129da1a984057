import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, readConfig } from './config.ts';
import { addTandemStacks } from './stacks.ts';

/**
 * The CDK app (`npm run synth`, `npm run diff`, `npm run deploy`; see
 * docs/bootstrap.md). Settings come from context (`-c regions=…`) or the
 * environment; cdk-nag's AwsSolutions pack checks every stack at synth.
 */
const app = new App();
try {
  addTandemStacks(
    app,
    readConfig((key) => app.node.tryGetContext(key), process.env),
  );
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
