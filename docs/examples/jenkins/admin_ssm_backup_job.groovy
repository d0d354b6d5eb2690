// Job DSL for the existing controller: the nightly SSM backup job, now running ssm-keeper.
// The job's parameters are kept (ENVIRONMENT, DRY_RUN, JENKINSFILE_BRANCH), so operators and
// scripts that trigger it keep working; AGENT_LABEL and DRILL (the weekly restore drill instead
// of the backup) are new.
//
// Every night, one build per environment: the Parameterized Scheduler plugin's cron takes one
// line per environment, each with its ENVIRONMENT (a plain cron would start one build with the
// default parameters, which backs up dev only). disableConcurrentBuilds in the Jenkinsfile runs
// them one after the other.
//
// Settings, from jenkinsJobsConfig['admin_ssm_backup_job'] (defaults in brackets):
//   name, displayName     the job's name under Admin_Jobs/ and its display name
//   environments          the stacks to back up every night [dev, prod]
//   cron                  when, in the controller's time zone [0 13 * * *: 13:00 UTC, 22:00 JST]
//   drillCron             when the weekly restore drill runs, one build per environment with
//                         DRILL=true [0 3 * * 1: Mondays 03:00 UTC, 12:00 JST]; '' for none
//   jenkinsfilePath       the Jenkinsfile in the pipeline repository [docs/examples/jenkins/Jenkinsfile]
//   agentLabel            the default AGENT_LABEL: agents with the binary's needs and the AWS role [ssm-backup]
// Credentials the Jenkinsfile binds: slack-ssm-backup-webhook (secret text), ssm-backup-smtp
// (username with password). See docs/deployment.md, "Jenkins".
def jenkinsPipelineRepo = commonSettings['jenkins-pipeline-repo']
def jobKey = 'admin_ssm_backup_job'
def jobConfig = jenkinsJobsConfig[jobKey]
def fullJobName = "Admin_Jobs/${jobConfig.name}"
def environments = jobConfig.environments ?: ['dev', 'prod']
def cron = jobConfig.cron ?: '0 13 * * *'
def drillCron = jobConfig.drillCron == null ? '0 3 * * 1' : jobConfig.drillCron
def jenkinsfilePath = jobConfig.jenkinsfilePath ?: 'docs/examples/jenkins/Jenkinsfile'
def agentLabel = jobConfig.agentLabel ?: 'ssm-backup'

pipelineJob(fullJobName) {
    displayName(jobConfig.displayName)
    description('SSM Parameter Store backup (ssm-keeper backup, then verify), every environment every night; with DRILL, the weekly restore drill (ssm-keeper restore --drill).')
    keepDependencies(false)
    disabled(false)

    logRotator {
        daysToKeep(30)
        numToKeep(100)
        artifactDaysToKeep(-1)
        artifactNumToKeep(-1)
    }

    properties {
        rebuild {
            autoRebuild(false)
            rebuildDisabled(false)
        }
        pipelineTriggers {
            triggers {
                // One line per environment: `0 13 * * * % ENVIRONMENT=dev`, ...; and the drills:
                // `0 3 * * 1 % ENVIRONMENT=dev;DRILL=true`, ...
                def nightly = environments.collect { env -> "${cron} % ENVIRONMENT=${env}" }
                def drills = drillCron ? environments.collect { env -> "${drillCron} % ENVIRONMENT=${env};DRILL=true" } : []
                parameterizedCron {
                    parameterizedSpecification((nightly + drills).join('\n'))
                }
            }
        }
    }

    parameters {
        choiceParam('ENVIRONMENT', environments, 'The environment (stack) to back up')
        booleanParam('DRY_RUN', false, 'Collect and count only: upload nothing')
        booleanParam('DRILL', false, 'Run the restore drill (restore --drill, the restore role) instead of the backup')
        stringParam('AGENT_LABEL', agentLabel, 'The label of the agents that run the backup')
        stringParam('JENKINSFILE_BRANCH', 'main', 'The branch holding the Jenkinsfile')
    }

    definition {
        cpsScm {
            scm {
                git {
                    remote {
                        url(jenkinsPipelineRepo.url)
                        credentials(jenkinsPipelineRepo.credentials)
                    }
                    branch('${JENKINSFILE_BRANCH}')
                }
            }
            scriptPath(jenkinsfilePath)
            lightweight(true)
        }
    }
}
