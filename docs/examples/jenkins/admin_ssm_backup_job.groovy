// Job DSL for the existing controller: the nightly SSM backup job, now running ssm-keeper.
// The job's parameters are unchanged (ENVIRONMENT, DRY_RUN, JENKINSFILE_BRANCH): operators and
// scripts that trigger it keep working.
def jenkinsPipelineRepo = commonSettings['jenkins-pipeline-repo']
def jobKey = 'admin_ssm_backup_job'
def jobConfig = jenkinsJobsConfig[jobKey]
def fullJobName = "Admin_Jobs/${jobConfig.name}"

pipelineJob(fullJobName) {
    displayName(jobConfig.displayName)
    description('SSM Parameter Store backup (ssm-keeper backup, then verify).')
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
                cron {
                    spec('0 13 * * *')  // 13:00 UTC = 22:00 JST, every day
                }
            }
        }
    }

    throttleConcurrentBuilds {
        maxTotal(1)
        throttleDisabled(false)
    }

    parameters {
        choiceParam('ENVIRONMENT', ['dev', 'prod'], 'The environment (stack) to back up')
        booleanParam('DRY_RUN', false, 'Collect and count only: upload nothing')
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
            scriptPath('docs/examples/jenkins/Jenkinsfile')
            lightweight(true)
        }
    }
}
