"""An AWS organisation in a local moto server, for the `custody collect aws` test (boto3, moto's own dependency).

  org.py seed ENDPOINT     create the organisation: the management account (moto's
                           123456789012) and three member accounts (one in an OU
                           with an SCP), each with an OrganizationAccountAccessRole,
                           users with owner tags and access keys, a group, a
                           managed policy and a role trusted by another account
                           (and in payments a bucket, a secret, a KMS key and a
                           Lambda function; in the management account a trail
                           whose bucket holds two log files); a
                           `collector` user in the management account allowed
                           everything. Then turns moto's authentication on.
                           Prints JSON: the collector's key, the accounts, the keys.
  org.py delete ENDPOINT COLLECTOR_ID COLLECTOR_SECRET ACCOUNT USER KEY
                           delete a user's key in a member account, as the
                           collector through that account's role
  org.py deny ENDPOINT COLLECTOR_ID COLLECTOR_SECRET ACCOUNT
                           from now on the collector may not assume the role in
                           ACCOUNT (an explicit Deny beside its Allow *)
  org.py bench ENDPOINT ACCOUNTS USERS
                           for the collection benchmark (docs/PERFORMANCE.md): an
                           organisation of ACCOUNTS member accounts, each with USERS
                           users (one access key each) and USERS roles; authentication
                           stays off. Prints nothing.
"""
import json
import sys

import boto3

REGION = "us-east-1"
# Access keys' secrets by key id, for the secret planted in Secrets Manager.
SECRETS = {}
ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def client(service, endpoint, key="testing", secret="testing", token=None):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)


def as_role(service, endpoint, account, key="testing", secret="testing"):
    creds = client("sts", endpoint, key, secret).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="setup")["Credentials"]
    return client(service, endpoint, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def seed_account(iam, account, name):
    keys = []
    for user, owner in [(f"svc-{name}-deploy", f"{name}-lead@example.com"), (f"svc-{name}-batch", None)]:
        tags = [{"Key": "owner", "Value": owner}] if owner else []
        iam.create_user(UserName=user, Tags=tags)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys.append({"account": account, "user": user, "key": key["AccessKeyId"], "owner": owner})
        SECRETS[key["AccessKeyId"]] = key["SecretAccessKey"]
    iam.create_group(GroupName=f"{name}-ops")
    iam.add_user_to_group(GroupName=f"{name}-ops", UserName=f"svc-{name}-deploy")
    arn = iam.create_policy(PolicyName=f"{name}-read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=f"{name}-ops", PolicyArn=arn)
    iam.create_role(RoleName=f"{name}-app", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName=f"{name}-app", PolicyName="app", PolicyDocument=json.dumps(ALL))
    return keys


def seed_resources(endpoint, account, name):
    """A bucket with a policy and an owner tag, a secret with a resource policy,
    a KMS key and a Lambda function running as the account's app role."""
    s3 = as_role("s3", endpoint, account)
    bucket = f"{name}-ledger-{account}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "owner", "Value": f"{name}-lead@example.com"},
                                                             {"Key": "data-classification", "Value": "restricted"}]})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:role/{name}-app"}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    sm = as_role("secretsmanager", endpoint, account)
    arn = sm.create_secret(Name=f"{name}/db", SecretString="not-collected")["ARN"]
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:role/{name}-app"},
         "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    # A key pair kept in Secrets Manager, as teams do: found only by reading values.
    batch = [k for k, _ in SECRETS.items()][-1]
    stored = sm.create_secret(Name=f"{name}/batch-aws-key", SecretString=json.dumps(
        {"AWS_ACCESS_KEY_ID": batch, "AWS_SECRET_ACCESS_KEY": SECRETS[batch]}))["ARN"]
    as_role("kms", endpoint, account).create_key(Description=f"{name} data key")
    import io, zipfile
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 1\n")
    as_role("lambda", endpoint, account).create_function(
        FunctionName=f"{name}-api", Runtime="python3.12", Role=f"arn:aws:iam::{account}:role/{name}-app",
        Handler="index.handler", Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {"DB_SECRET_ARN": arn}})
    iam = as_role("iam", endpoint, account)
    iam.create_instance_profile(InstanceProfileName=f"{name}-web")
    iam.add_role_to_instance_profile(InstanceProfileName=f"{name}-web", RoleName=f"{name}-app")
    ec2 = as_role("ec2", endpoint, account)
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                 IamInstanceProfile={"Name": f"{name}-web"},
                                 TagSpecifications=[{"ResourceType": "instance",
                                                     "Tags": [{"Key": "Name", "Value": f"{name}-web"}]}])
    instance_id = instance["Instances"][0]["InstanceId"]
    return {"bucket": bucket, "secret": arn, "instance": instance_id, "stored_key": batch, "stored_secret": stored,
            "stored_key_secret": SECRETS[batch]}


def seed_trail(endpoint, key):
    """A trail delivering to a bucket in the management account, and two log
    files as CloudTrail writes them (gzip, the documented key layout) whose
    events use `key`."""
    import datetime, gzip
    s3 = client("s3", endpoint)
    bucket = "acme-cloudtrail-logs"
    s3.create_bucket(Bucket=bucket)
    client("cloudtrail", endpoint).create_trail(Name="org-trail", S3BucketName=bucket, IsMultiRegionTrail=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    events = 0
    for n in range(2):
        t = now - datetime.timedelta(minutes=10 * (n + 1))
        stamp = t.strftime("%Y%m%dT%H%MZ")
        record = {"eventVersion": "1.08", "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE",
                  "arn": f"arn:aws:iam::123456789012:user/{key['user']}", "accountId": "123456789012",
                  "accessKeyId": key["key"], "userName": key["user"]},
                  "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "eventSource": "s3.amazonaws.com",
                  "eventName": "GetObject", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.10",
                  "userAgent": "aws-cli/2.15.0", "requestID": f"req-{n}", "eventID": f"evt-{n}",
                  "readOnly": True, "eventType": "AwsApiCall", "managementEvent": False,
                  "recipientAccountId": "123456789012"}
        body = gzip.compress(json.dumps({"Records": [record]}).encode())
        k = (f"AWSLogs/123456789012/CloudTrail/us-east-1/{t.strftime('%Y/%m/%d')}/"
             f"123456789012_CloudTrail_us-east-1_{stamp}_{n}abc.json.gz")
        s3.put_object(Bucket=bucket, Key=k, Body=body)
        events += 1
    return {"bucket": bucket, "events": events, "key": key["key"]}


def seed(endpoint):
    org = client("organizations", endpoint)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    accounts = []
    for name in ["payments", "data", "sandbox"]:
        status = org.create_account(Email=f"aws-{name}@example.com", AccountName=name)["CreateAccountStatus"]
        accounts.append((status["AccountId"], name))
    org.move_account(AccountId=accounts[0][0], SourceParentId=root, DestinationParentId=ou)
    scp = org.create_policy(Name="deny-leave", Type="SERVICE_CONTROL_POLICY", Description="no leaving",
                            Content=json.dumps({"Version": "2012-10-17", "Statement": [
                                {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}))
    org.attach_policy(PolicyId=scp["Policy"]["PolicySummary"]["Id"], TargetId=ou)

    keys = []
    for account, name in accounts:
        iam = as_role("iam", endpoint, account)
        # Organizations creates the role with each account (moto does too).
        iam.put_role_policy(RoleName="OrganizationAccountAccessRole", PolicyName="admin", PolicyDocument=json.dumps(ALL))
        keys += seed_account(iam, account, name)
        if name == "payments":
            resources = seed_resources(endpoint, account, name)

    iam = client("iam", endpoint)
    keys += seed_account(iam, "123456789012", "mgmt")
    trail = seed_trail(endpoint, [k for k in keys if k["account"] == "123456789012"][0])
    iam.create_user(UserName="collector")
    iam.put_user_policy(UserName="collector", PolicyName="collect", PolicyDocument=json.dumps(ALL))
    collector = iam.create_access_key(UserName="collector")["AccessKey"]
    # From here on, every call is authenticated and authorised.
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"})).read()
    print(json.dumps({
        "collector": {"id": collector["AccessKeyId"], "secret": collector["SecretAccessKey"]},
        "management": "123456789012",
        "ou": ou,
        "accounts": {name: account for account, name in accounts},
        "keys": keys,
        "resources": resources,
        "trail": trail,
    }))


def delete(endpoint, key, secret, account, user, key_id):
    as_role("iam", endpoint, account, key, secret).delete_access_key(UserName=user, AccessKeyId=key_id)


def deny(endpoint, key, secret, account):
    client("iam", endpoint, key, secret).put_user_policy(
        UserName="collector", PolicyName="collect", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": ALL["Statement"] + [
                {"Effect": "Deny", "Action": "sts:AssumeRole",
                 "Resource": f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"}]}))


def bench(endpoint, accounts, users):
    org = client("organizations", endpoint)
    org.create_organization(FeatureSet="ALL")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]})
    for a in range(int(accounts)):
        account = org.create_account(Email=f"a{a}@example.com", AccountName=f"a{a}")["CreateAccountStatus"]["AccountId"]
        iam = as_role("iam", endpoint, account)
        for u in range(int(users)):
            iam.create_user(UserName=f"svc-{u}", Tags=[{"Key": "owner", "Value": f"team{u % 7}@example.com"}])
            iam.create_access_key(UserName=f"svc-{u}")
            iam.create_role(RoleName=f"role-{u}", AssumeRolePolicyDocument=trust)
            iam.put_role_policy(RoleName=f"role-{u}", PolicyName="p", PolicyDocument=json.dumps(ALL))


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        seed(sys.argv[2])
    elif sys.argv[1] == "delete":
        delete(*sys.argv[2:8])
    elif sys.argv[1] == "bench":
        bench(*sys.argv[2:5])
    elif sys.argv[1] == "deny":
        deny(*sys.argv[2:6])
    else:
        sys.exit(__doc__)
