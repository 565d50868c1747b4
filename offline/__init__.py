"""The offline stack: DynamoDB Local, moto in server mode, the replay server and the demo.

Not part of the Lambda package (it lives outside chalicelib/ on purpose).
"""
