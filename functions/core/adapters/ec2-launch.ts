import { RunInstancesCommand, type EC2Client, type LaunchTemplateSpecification } from '@aws-sdk/client-ec2';
import type { HostLauncher } from '../recovery/model.ts';

const TEMPLATE_ID = /^lt-[0-9a-f]{8,17}$/;

/**
 * Starts a whole-host recovery's replacement with EC2 RunInstances from a launch template:
 * exactly one instance, the template's settings untouched, the instance and its volumes tagged
 * (the Lifeboat tag lets it receive the restore document; lifeboat:sources says which archives
 * it may receive). The client token makes a retried launch of the same recovery return the
 * instance it already started instead of starting a second one.
 */
export class Ec2HostLauncher implements HostLauncher {
  constructor(private readonly ec2: EC2Client) {}

  async launch(input: Parameters<HostLauncher['launch']>[0]): Promise<string> {
    if (input.clientToken.length === 0 || input.clientToken.length > 64) throw new Error('the launch client token must be 1 to 64 characters');
    const template: LaunchTemplateSpecification = TEMPLATE_ID.test(input.templateId)
      ? { LaunchTemplateId: input.templateId }
      : { LaunchTemplateName: input.templateId };
    template.Version = input.version ?? '$Default';
    const tags = Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value }));
    const out = await this.ec2.send(
      new RunInstancesCommand({
        LaunchTemplate: template,
        MinCount: 1,
        MaxCount: 1,
        ClientToken: input.clientToken,
        ...(tags.length > 0
          ? {
              TagSpecifications: [
                { ResourceType: 'instance', Tags: tags },
                { ResourceType: 'volume', Tags: tags },
              ],
            }
          : {}),
      }),
    );
    const instanceId = out.Instances?.[0]?.InstanceId;
    if (!instanceId) throw new Error(`EC2 started no instance from launch template ${input.templateId}`);
    return instanceId;
  }
}
